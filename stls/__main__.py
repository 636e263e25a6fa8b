from stls.cli import main

raise SystemExit(main())
