"""Reading articles: files, web pages, feeds and scans → articles → chunks."""
