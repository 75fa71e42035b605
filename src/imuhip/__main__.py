from imuhip.cli import main

raise SystemExit(main())
