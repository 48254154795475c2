"""The operator console (``streamlit run app/main.py``)."""
