"""graphql-core's executor with a short path for the values of a record.

A page of 25 records and 4 fields is 100 scalar values; graphql-core resolves each one as a
field of its own (a resolve info, a path, argument values, completion, coercion), and that
machinery cost as much as the whole REST request (bench/RESULTS.md). A record field the
schema marks as a plain value (`extensions["noco_value"]`: row -> value, schema.py) is read
here straight from the row and coerced by its scalar, with the result graphql-core would give.
Anything else, and any value that would be an error (null for a non-null field, a value its
scalar refuses), goes through graphql-core's own path, so errors, their paths and null
propagation are graphql-core's.
"""

from __future__ import annotations

from graphql import GraphQLNonNull, GraphQLObjectType
from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import Path, Undefined

VALUE = "noco_value"  # GraphQLField.extensions key: (row -> output value)


def _plain_values(parent_type: GraphQLObjectType) -> dict:
    """Field name -> (read, coerce, non-null) of the type's plain value fields, remembered on
    the type (types are immutable once built; a schema change builds new ones)."""
    found = parent_type.__dict__.get("_noco_values")
    if found is None:
        found = {}
        for name, f in parent_type.fields.items():
            read = (f.extensions or {}).get(VALUE)
            if read is None:
                continue
            non_null = isinstance(f.type, GraphQLNonNull)
            scalar = f.type.of_type if non_null else f.type
            found[name] = (read, scalar.coerce_output_value, non_null)
        parent_type._noco_values = found
    return found


_SLOW = object()  # a value for graphql-core's own path


def _read(plain, row):
    """The completed value, or _SLOW when it is an error graphql-core must report."""
    read, coerce, non_null = plain
    try:
        raw = read(row)
        if raw is None:
            return _SLOW if non_null else None
        value = coerce(raw)
    except Exception:  # reported, located, by graphql-core's path
        return _SLOW
    return _SLOW if value is None or value is Undefined else value


class RecordExecutor(IncrementalExecutor):
    def execute_fields(
        self, parent_type, source_value, path, grouped_field_set, position_context
    ):
        values = (
            _plain_values(parent_type)
            if (parent_type.extensions or {}).get(VALUE)
            and self.middleware_manager is None
            else None
        )
        if not values:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results = {}
        for response_name, details in grouped_field_set.items():
            plain = values.get(details[0].node.name.value)
            value = _SLOW if plain is None else _read(plain, source_value)
            if value is not _SLOW:
                results[response_name] = value
                continue
            # Links, __typename, and values that are errors: graphql-core's own path.
            # Every resolver of this schema is synchronous (execute.py runs execute_sync).
            result = self.execute_field(
                parent_type,
                source_value,
                details,
                Path(path, response_name, parent_type.name),
                position_context,
            )
            if result is not Undefined:
                results[response_name] = result
        return results

    def complete_list_value(
        self, return_type, field_details_list, info, path, result, position_context
    ):
        """A list of records whose selection is plain values only (a page's `list`, a
        nested link list without links below): each record's values read in one loop."""
        rows = self._plain_records(
            return_type.of_type, field_details_list, path, result
        )
        if rows is not None:
            return rows
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plain_records(self, item_type, field_details_list, path, result):
        record = (
            item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        )
        if (
            not isinstance(record, GraphQLObjectType)
            or not (record.extensions or {}).get(VALUE)
            or not isinstance(result, list)
            or self.middleware_manager is not None
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return None
        grouped, defers, _ = self.collect_subfields(record, field_details_list)
        if defers:
            return None
        values = _plain_values(record)
        plan = [
            (name, values.get(details[0].node.name.value))
            for name, details in grouped.items()
        ]
        if any(plain is None for _, plain in plan):
            return None  # links or __typename: field by field (execute_fields)
        out = []
        for row in result:
            if row is None:
                return None
            obj = {}
            for name, plain in plan:
                value = _read(plain, row)
                # An error to report: graphql-core's path, from the start.
                if value is _SLOW:
                    return None
                obj[name] = value
            out.append(obj)
        return out
