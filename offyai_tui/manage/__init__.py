"""Managing local models, headless.

The Models screen and the ``offyai models`` / ``pull`` / ``rm`` commands share this
package: the table's rows (:mod:`.rows`), engine actions (:mod:`.actions`), GGUF import
(:mod:`.gguf_import`) and pull progress (:mod:`.pull_track`). It never imports Textual.
"""
