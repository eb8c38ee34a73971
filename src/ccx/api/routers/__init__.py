"""HTTP routes. Each handler validates, makes one service or query call, and maps the answer."""
