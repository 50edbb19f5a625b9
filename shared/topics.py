"""Every Kafka topic name, in one place."""

CALLER_NUMBER_COMMANDS = "caller-numbers.commands.v1"
CALLER_NUMBER_EVENTS = "caller-numbers.events.v1"
IMPORT_EVENTS = "caller-number-imports.events.v1"

# Messages that could not be processed, with their error; one per source topic.
DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(source_topic: str) -> str:
    return source_topic + DEAD_LETTER_SUFFIX
