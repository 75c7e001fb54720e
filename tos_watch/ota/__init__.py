"""Open Terms Archive interoperability: read its declarations and its versions repositories.

    declarations.py   OTA service declarations (JSON) -> watchlist Documents + warnings; pure
    watchlist.py      those Documents -> [[documents]] TOML entries appended to tos-watch.toml
    history.py        an OTA versions git repository -> dated version texts -> the store
"""
