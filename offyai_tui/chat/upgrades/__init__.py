"""Reading transcripts written in older formats.

Each format whose lines mean something different today has a module here,
named after the version it upgrades from. Files are upgraded while they are
read and never rewritten: a file keeps every byte it was written with, and
whatever is appended to it later is in the current format. Readers therefore
decide line by line, from what a line holds, never from the header alone.
"""
