"""The console's entry point: it only routes (``streamlit run app/main.py``).

The pages live in ``app/views/``, not ``app/pages/``: Streamlit treats a ``pages/`` folder
beside the entry file as a legacy multipage app, and on a server's first request runs the
requested page file directly, past this router and its login (every page also checks
access itself, as a second line).
"""

from __future__ import annotations

import streamlit as st

from app import access, identity, ui

st.set_page_config(page_title="roastbot console", page_icon=":material/local_fire_department:", layout="wide")
settings = ui.load_settings_or_stop()

PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview"),
    st.Page("views/roasts.py", title="Roasts", icon=":material/local_fire_department:", url_path="roasts"),
    st.Page("views/results.py", title="Results", icon=":material/thumb_up:", url_path="results"),
    st.Page(
        "views/dead_letters.py",
        title="Dead letters",
        icon=":material/move_to_inbox:",
        url_path="dead-letters",
    ),
    st.Page("views/approvals.py", title="Approvals", icon=":material/fact_check:", url_path="approvals"),
    st.Page("views/controls.py", title="Controls", icon=":material/tune:", url_path="controls"),
    st.Page("views/processes.py", title="Processes", icon=":material/settings:", url_path="processes"),
]


def home() -> None:
    st.switch_page(PAGES[0])


# Streamlit serves the default page at "/" and ignores its url_path, so Overview is not the
# default: the root forwards to /overview and every page keeps a URL of its own.
HOME_PAGE = st.Page(home, title="Overview", url_path="home", default=True, visibility="hidden")

# Every page is registered even before the sign-in, so a typed URL (/controls) is found:
# the sign-in renders in its place, and its rerun opens the page that was asked for.
allowed = access.granted(settings)
page = st.navigation([HOME_PAGE, *PAGES], position="sidebar" if allowed else "hidden")
if not allowed:
    access.gate(settings)
    st.stop()
if page is HOME_PAGE:
    home()  # before anything renders: what this run would draw (the sign-in's cookie) is lost

with st.sidebar:
    # The audit log names who signed in (the provider's address, or the name given with the
    # password); only a loopback console without sign-in asks who is acting.
    if settings.console_auth == "oidc":
        identity.sidebar(settings)
    elif settings.console_password.get_secret_value():
        st.caption(f"Signed in as {ui.safe(ui.operator())}")
        access.write_cookie()
        st.button("Sign out", on_click=access.sign_out, args=(settings,))
    else:
        st.session_state.setdefault("operator", "operator")
        st.text_input("Acting as", key="operator", help="Your name in the audit log.")
    st.caption("sandbox mode" if settings.sandbox_mode else "live X API")
page.run()
