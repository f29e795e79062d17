//! The admin's list of accounts: filtered, searched by prefix, sorted, and paged by key
//! (keyset pagination), so the millionth row costs what the first does.

use super::{COLUMNS, User, UserRow};
use crate::server::db::{Db, DbError, Timestamp, on_db};

/// What the list is sorted by (always with the id last, so the order is total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Username,
    Email,
    DateJoined,
    Id,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            Self::Username => "username_key",
            Self::Email => "email_key",
            Self::DateJoined => "date_joined",
            Self::Id => "id",
        }
    }

    /// The key of `user` a cursor after (or before) it holds.
    pub fn key_of(self, user: &User) -> Key {
        match self {
            Self::Username => Key::Text(crate::domain::fold(&user.username)),
            Self::Email => Key::Text(crate::domain::fold(&user.email)),
            Self::DateJoined => Key::Time(user.date_joined),
            Self::Id => Key::Int(user.id),
        }
    }
}

/// A sort key's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Text(String),
    Time(i64),
    Int(i64),
}

/// Where a page starts: after the row `(key, id)` going forward, or before it going back
/// (`None` going back: the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub forward: bool,
    pub after: Option<(Key, i64)>,
}

/// Which accounts, in what order, from where.
#[derive(Debug, Clone)]
pub struct Query {
    /// Folded: matches the start of the username, the address, or either name.
    pub search: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub email_verified: Option<bool>,
    pub sort: SortKey,
    pub descending: bool,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// One page, in the query's order, and whether rows lie beyond either end of it.
#[derive(Debug, Clone)]
pub struct Page {
    pub users: Vec<User>,
    pub more_after: bool,
    pub more_before: bool,
}

enum Arg {
    Text(String),
    Bool(bool),
    Time(i64),
    Int(i64),
}

impl From<&Key> for Arg {
    fn from(key: &Key) -> Self {
        match key {
            Key::Text(text) => Self::Text(text.clone()),
            Key::Time(at) => Self::Time(*at),
            Key::Int(id) => Self::Int(*id),
        }
    }
}

/// `$statement` with `$args` bound in order, on whichever backend's statement it is.
macro_rules! bound {
    ($statement:expr, $args:expr) => {{
        let mut statement = $statement;
        for arg in $args {
            statement = match arg {
                Arg::Text(text) => statement.bind(text.as_str()),
                Arg::Bool(flag) => statement.bind(*flag),
                Arg::Time(at) => statement.bind(Timestamp(*at)),
                Arg::Int(n) => statement.bind(*n),
            };
        }
        statement
    }};
}

/// The filters and search as SQL (`$n` from 1) with their values.
fn conditions(query: &Query, postgres: bool) -> (Vec<String>, Vec<Arg>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    for (column, value) in [
        ("is_active", query.is_active),
        ("is_staff", query.is_staff),
        ("email_verified", query.email_verified),
    ] {
        if let Some(value) = value {
            args.push(Arg::Bool(value));
            clauses.push(format!("{column} = ${}", args.len()));
        }
    }
    if let Some(term) = query.search.as_deref().filter(|t| !t.is_empty()) {
        // A prefix is the range [term, term + the highest character): byte order, as the
        // indexes made for it sort (PostgreSQL's under the "C" collation).
        let collate = if postgres { " COLLATE \"C\"" } else { "" };
        args.push(Arg::Text(term.to_string()));
        let low = args.len();
        args.push(Arg::Text(format!("{term}\u{10FFFF}")));
        let high = args.len();
        let matches: Vec<String> = [
            "username_key",
            "email_key",
            "lower(first_name)",
            "lower(last_name)",
        ]
        .iter()
        .map(|e| format!("({e}{collate} >= ${low} AND {e}{collate} < ${high})"))
        .collect();
        clauses.push(format!("({})", matches.join(" OR ")));
    }
    (clauses, args)
}

/// A page of accounts.
///
/// # Errors
/// The database error.
pub async fn page(db: &Db, query: &Query) -> Result<Page, DbError> {
    let (mut clauses, mut args) = conditions(query, matches!(db, Db::Postgres(_)));
    let forward = query.cursor.as_ref().is_none_or(|c| c.forward);
    // Walking back reads the order reversed, then turns the rows around.
    let descending = if forward {
        query.descending
    } else {
        !query.descending
    };
    let column = query.sort.column();
    if let Some((key, id)) = query.cursor.as_ref().and_then(|c| c.after.as_ref()) {
        let op = if descending { "<" } else { ">" };
        args.push(Arg::from(key));
        let k = args.len();
        args.push(Arg::Int(*id));
        let i = args.len();
        clauses.push(format!(
            "({column} {op} ${k} OR ({column} = ${k} AND id {op} ${i}))"
        ));
    }
    let direction = if descending { "DESC" } else { "ASC" };
    args.push(Arg::Int(query.limit + 1));
    let sql = format!(
        "SELECT {COLUMNS} FROM users {} ORDER BY {column} {direction}, id {direction} LIMIT ${}",
        where_clause(&clauses),
        args.len()
    );
    let rows: Vec<UserRow> = on_db!(db, "users.page", pool => {
        bound!(sqlx::query_as(&sql), &args).fetch_all(pool).await
    })?;
    let beyond = i64::try_from(rows.len()).unwrap_or(i64::MAX) > query.limit;
    let mut users: Vec<User> = rows
        .into_iter()
        .take(usize::try_from(query.limit).unwrap_or(0))
        .map(User::from)
        .collect();
    let from_somewhere = query.cursor.as_ref().is_some_and(|c| c.after.is_some());
    Ok(if forward {
        Page {
            users,
            more_after: beyond,
            more_before: from_somewhere,
        }
    } else {
        users.reverse();
        Page {
            users,
            more_after: from_somewhere,
            more_before: beyond,
        }
    })
}

/// How many accounts the query's filters and search match. Without a search, the sum of the
/// counts the database keeps per combination of filters (`user_counts`): the same at a million
/// accounts as at ten. A search counts its matches, a range of an index each.
///
/// # Errors
/// The database error.
pub async fn count(db: &Db, query: &Query) -> Result<i64, DbError> {
    let (clauses, args) = conditions(query, matches!(db, Db::Postgres(_)));
    let searching = query.search.as_deref().is_some_and(|t| !t.is_empty());
    let sql = if searching {
        format!("SELECT COUNT(*) FROM users {}", where_clause(&clauses))
    } else {
        format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM user_counts {}",
            where_clause(&clauses)
        )
    };
    on_db!(db, "users.count", pool => {
        bound!(sqlx::query_scalar(&sql), &args).fetch_one(pool).await
    })
}

fn where_clause(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}
