//! Node configuration: schema, parsing and whole-file validation.
