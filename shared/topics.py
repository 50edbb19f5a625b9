"""Every Kafka topic name, in one place."""

CALLER_NUMBER_COMMANDS = "caller-numbers.commands.v1"
CALLER_NUMBER_EVENTS = "caller-numbers.events.v1"
IMPORT_EVENTS = "caller-number-imports.events.v1"

# Messages that could not be processed, with their error; one per source topic.
DEAD_LETTER_SUFFIX = ".dlq"


# Created at service start with the configured partition count (auto-creation would use 1).
ALL = (
    CALLER_NUMBER_COMMANDS,
    CALLER_NUMBER_EVENTS,
    IMPORT_EVENTS,
    CALLER_NUMBER_COMMANDS + DEAD_LETTER_SUFFIX,
)


def dead_letter_topic(source_topic: str) -> str:
    return source_topic + DEAD_LETTER_SUFFIX
