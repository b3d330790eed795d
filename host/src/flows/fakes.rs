//! In-memory fakes of the roles (filled below).
