from stls.cli import main

if __name__ == "__main__":   # not when a worker process (stls.analysis.evaluation) is spawned from ``python -m stls serve``
    raise SystemExit(main())
