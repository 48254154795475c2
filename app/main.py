"""The console's entry point: it only routes (``streamlit run app/main.py``).

URL paths differ from the page files' names on purpose: Streamlit's legacy ``pages/``
folder handling would otherwise run a page file directly, past this router (every page
also checks access itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
if str(HOME) not in sys.path:
    sys.path.insert(0, str(HOME))

import streamlit as st  # noqa: E402

from app import access, ui  # noqa: E402

st.set_page_config(page_title="roastbot console", page_icon=":material/local_fire_department:", layout="wide")
settings = ui.load_settings_or_stop()

if not access.granted(settings):

    def sign_in() -> None:
        access.gate(settings)

    st.navigation([st.Page(sign_in, title="Sign in", url_path="sign-in")], position="hidden").run()
    st.stop()

page = st.navigation(
    [
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/monitoring:",
            url_path="status",
            default=True,
        ),
        st.Page(
            "pages/roasts.py",
            title="Roasts",
            icon=":material/local_fire_department:",
            url_path="recent-roasts",
        ),
        st.Page(
            "pages/dead_letters.py",
            title="Dead letters",
            icon=":material/move_to_inbox:",
            url_path="dead-letters",
        ),
        st.Page(
            "pages/approvals.py", title="Approvals", icon=":material/fact_check:", url_path="approval-queue"
        ),
        st.Page("pages/controls.py", title="Controls", icon=":material/tune:", url_path="run-controls"),
        st.Page("pages/processes.py", title="Processes", icon=":material/settings:", url_path="supervisor"),
    ]
)
st.session_state.setdefault("operator", "operator")
with st.sidebar:
    st.text_input("Acting as", key="operator", help="Your name in the audit log.")
    if settings.console_password.get_secret_value():
        st.button("Sign out", on_click=access.sign_out)
    st.caption("sandbox mode" if settings.sandbox_mode else "live X API")
page.run()
