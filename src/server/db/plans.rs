//! How each backend would run a statement (EXPLAIN), for the test that every statement the app
//! runs is served by an index. Test builds only; SQL stays under `db/`.
//!
//! A plan is read without running the statement and without its values: on SQLite with
//! `EXPLAIN QUERY PLAN` and every parameter NULL, on PostgreSQL as the generic plan of a
//! prepared statement (`plan_cache_mode = force_generic_plan`, what a prepared statement
//! gets once its values stop mattering) with sequential scans priced out
//! (`enable_seqscan = off`): a sequential scan that remains has no index to use instead, at
//! any table size, so an empty test database shows what a large one would do.

use sqlx::{Connection, PgConnection, Row};

use super::Db;

/// A statement's plan, a line per step, and the steps that read a whole table.
#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<String>,
    pub full_scans: Vec<String>,
}

/// The plan of `sql` (with `$n` placeholders) on `db`.
///
/// # Errors
/// The database's refusal to plan it.
pub async fn explain(db: &Db, sql: &str) -> Result<Plan, sqlx::Error> {
    let parameters = parameter_count(sql);
    let steps = match db {
        Db::Sqlite(pool) => {
            let text = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&text);
            for _ in 0..parameters {
                query = query.bind(None::<i64>);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| row.try_get::<String, _>("detail"))
                .collect::<Result<Vec<_>, _>>()?
        }
        Db::Postgres(pool) => {
            let options = pool.connect_options();
            let mut conn = PgConnection::connect_with(&*options).await?;
            let nulls = vec!["NULL"; parameters].join(", ");
            let execute = if parameters == 0 {
                "EXPLAIN EXECUTE latchkey_plan".to_string()
            } else {
                format!("EXPLAIN EXECUTE latchkey_plan({nulls})")
            };
            let prepare = format!(
                "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan; \
                 PREPARE latchkey_plan AS {sql}"
            );
            sqlx::raw_sql(&prepare).execute(&mut conn).await?;
            let rows = sqlx::raw_sql(&execute).fetch_all(&mut conn).await?;
            let steps = rows
                .iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()?;
            conn.close().await?;
            steps
        }
    };
    let full_scans = steps
        .iter()
        .filter(|step| match db {
            Db::Sqlite(_) => reads_a_whole_table_on_sqlite(step),
            Db::Postgres(_) => step.contains("Seq Scan on "),
        })
        .cloned()
        .collect();
    Ok(Plan { steps, full_scans })
}

/// SQLite says `SCAN t` for a table (or its alias) read row by row, and `SCAN t USING ...
/// INDEX` or `SEARCH t ...` when an index serves; `SCAN (subquery-n)` reads a result, not a
/// table, and `SCAN CONSTANT ROW` nothing at all.
fn reads_a_whole_table_on_sqlite(step: &str) -> bool {
    let mut words = step.split_whitespace();
    matches!(
        (words.next(), words.next(), words.next()),
        (Some("SCAN"), Some(table), None) if !table.starts_with('(')
    )
}

/// The highest `$n` in `sql`: how many values a statement takes.
fn parameter_count(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{parameter_count, reads_a_whole_table_on_sqlite};

    #[test]
    fn parameters_are_counted_by_the_highest_number() {
        assert_eq!(parameter_count("SELECT 1"), 0);
        assert_eq!(parameter_count("SELECT $2 WHERE a = $1 OR b = $10"), 10);
    }

    #[test]
    fn only_a_table_read_row_by_row_is_a_full_scan() {
        assert!(reads_a_whole_table_on_sqlite("SCAN users"));
        assert!(reads_a_whole_table_on_sqlite("SCAN u"));
        assert!(!reads_a_whole_table_on_sqlite(
            "SCAN users USING INDEX users_username"
        ));
        assert!(!reads_a_whole_table_on_sqlite(
            "SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)"
        ));
        assert!(!reads_a_whole_table_on_sqlite("SCAN CONSTANT ROW"));
        assert!(!reads_a_whole_table_on_sqlite("SCAN (subquery-1)"));
    }
}
