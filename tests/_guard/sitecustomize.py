"""Installs the offline guard in every Python child process the tests start."""

import os

if os.environ.get("OFFYAI_NETGUARD") == "1":
    try:
        from offyai_tui.util import netguard

        netguard.install()
    except Exception:
        pass
