"""mer: the Streamlit dashboard. This file only registers the pages; each page lays out one view."""

import streamlit as st

from ui import PAGES

# The pages draw their own titled navigation (ui.start_page), the same whichever way Streamlit reached them.
pages = [st.Page(script, title=title, icon=icon, default=i == 0) for i, (script, title, icon) in enumerate(PAGES)]
st.navigation(pages, position="hidden").run()
