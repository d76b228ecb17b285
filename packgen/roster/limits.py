"""How large a profile file may be: no roster comes near these; a file past one is a mistake (or an
attack) and is refused with a message naming the limit, before it can exhaust memory or time.

Readers use them as ``limits.NAME`` so that one place sets them (and tests can lower them).
"""

#: bytes of one profile file
MAX_FILE_BYTES = 50 * 1024 * 1024
#: bytes an .xlsx (a zip) unpacks to: a zip bomb is refused unread
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: rows (members) with something in them, in one file
MAX_ROWS = 200_000
#: columns read per row; cells past them are ignored
MAX_COLUMNS = 500
#: cells from A1 to a sheet's farthest cell: the spreadsheet reader makes a grid of them
MAX_CELLS = (MAX_ROWS + 1) * 60
