"""Every Kafka topic name, in one place."""

CALLER_NUMBER_COMMANDS = "caller-numbers.commands.v1"
CALLER_NUMBER_EVENTS = "caller-numbers.events.v1"
IMPORT_COMMANDS = "caller-number-imports.commands.v1"
IMPORT_EVENTS = "caller-number-imports.events.v1"
# Internal: the rows of an import on their way to the registry, and its answers coming back.
IMPORT_ROWS = "caller-number-imports.rows.v1"
IMPORT_ROW_RESULTS = "caller-number-imports.row-results.v1"

# Messages that could not be processed, with their error; one per source topic.
DEAD_LETTER_SUFFIX = ".dlq"


# Created at service start with the configured partition count (auto-creation would use 1).
CONSUMED = (CALLER_NUMBER_COMMANDS, IMPORT_COMMANDS, IMPORT_ROWS, IMPORT_ROW_RESULTS)
ALL = (
    *CONSUMED,
    CALLER_NUMBER_EVENTS,
    IMPORT_EVENTS,
    *(topic + DEAD_LETTER_SUFFIX for topic in CONSUMED),
)

# What a topic needs beyond the broker's defaults, kept so on existing topics too. The commands
# topic stamps the broker's append time on each record: the registry judges a signature's age by
# it (shared/signing), so a producer cannot choose it.
CONFIGS: dict[str, dict[str, str]] = {
    CALLER_NUMBER_COMMANDS: {"message.timestamp.type": "LogAppendTime"},
}


def dead_letter_topic(source_topic: str) -> str:
    return source_topic + DEAD_LETTER_SUFFIX
