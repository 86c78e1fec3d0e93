"""Evidence: what a check records (rows, data, findings) and how it reaches the HTML, JUnit and JSON reports."""
