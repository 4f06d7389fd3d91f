"""`python run_server.py` — the same as the `awe-server` console script, same flags."""

from awe.server import main

if __name__ == "__main__":
    main()
