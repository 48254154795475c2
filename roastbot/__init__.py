"""Roastbot core: everything the workers and the console share."""
