"""One module per ``garden`` sub-command group, each with ``register(subparsers)``.

``garden.cli`` finds them by name, so adding a command means adding one module here.
Each module imports its domain package lazily inside the handler, so ``garden --help``
stays fast and never imports psychopy or torch.
"""
