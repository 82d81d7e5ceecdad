from connex_tui.cli import main

raise SystemExit(main())
