"""STLS Insight: KPIs and analyses for Kent's Specialist Teaching and Learning Service.

The core modules never import streamlit; ``stls.ui`` holds the few Streamlit helpers.
"""
