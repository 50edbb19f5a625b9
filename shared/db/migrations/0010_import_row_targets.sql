-- A row of an import file may name its own OU and description: its report line shows them.
ALTER TABLE import_row_result ADD COLUMN org_unit text, ADD COLUMN description text;
