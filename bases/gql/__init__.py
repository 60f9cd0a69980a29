"""GraphQL per base: a schema generated from the base's metadata for one caller, executed by
graphql-core over the same records services as REST (docs/graphql.md).

- `schema.py`: the types (one per table, typed from each field type's OpenAPI schema), cached
  by base, metadata version and what the caller may see and do.
- `loading.py`: list / get / count through bases/records.py, nested links one query per link
  field per page (`records.linked_rows`); mutations through records/writes.py.
- `limits.py`: depth and cost limits, checked before anything runs.
- `execute.py`: one request, from JSON body to `{data, errors}`.
"""
