"""How large what packgen reads may be: no roster comes near these; a file past one is a mistake (or an
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
#: characters in one cell (a name, an address, a note, a header), in every format: a page of text.
#: Longer is text pasted into the wrong cell; that row is refused before anything renders it.
MAX_CELL_CHARS = 2_000
#: bytes of a shard's manifest.json that ``packgen merge`` reads (a shard of MAX_ROWS members
#: writes ~200 MB); a larger one is refused unread
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
#: cells from A1 to a sheet's farthest cell: the spreadsheet reader makes a grid of them
MAX_CELLS = (MAX_ROWS + 1) * 60
