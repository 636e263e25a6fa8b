"""Who may see and do what: the sign-in rules and roles, and the server's front door in front of Streamlit."""
