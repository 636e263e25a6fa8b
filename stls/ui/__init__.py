"""The only part of ``stls`` that imports streamlit: cached data access, filters, widgets."""
