"""What each page shows, computed: charts (with alt text and table alternatives) and tables."""
