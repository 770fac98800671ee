"""The customer profile page (`page.py`), one module per part of it: the header, the golden
record with consent and household, the timeline, and the four tabs' panels (garage,
lifetime value, opportunities, why one person).

Each module draws from what `page.py` already read (the golden record, the timeline, the
dealers' names) and asks `dashboard.queries` for the rest; none reads the query string.
"""
