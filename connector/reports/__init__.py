"""Finance reports: deferred revenue rollforward, revenue waterfall, credit liability.

Each builder returns a ``Report`` (columns and rows of plain values, money in integer minor
units); ``render`` writes it as a Rich table, CSV, JSON or XLSX.
"""
