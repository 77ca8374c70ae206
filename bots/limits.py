"""Discord's documented limits the bot keeps (and the local fake API enforces)."""

ACK_SECONDS = 3.0  # first response to an interaction
TOKEN_SECONDS = 15 * 60  # interaction token lifetime; follow-ups fail with 401/50027 after it
TOKEN_MARGIN = 60  # switch to a channel message this long before the token expires
CONTENT = 2000
FILES = 10
ROWS = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
LABEL = 80
DEFAULT_UPLOAD = 10 * 1024 * 1024
COMMAND_NAME = r"^[-_\w]{1,32}$"
DESCRIPTION = 100
OPTIONS = 25
CHOICES = 25
PROGRESS_EVERY = 1.5  # seconds between progress edits
