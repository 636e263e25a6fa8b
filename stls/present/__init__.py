"""What a reader sees, as plain data: charts, tables and words per page, the meeting agenda, the pack and CSV exports (no Streamlit)."""
