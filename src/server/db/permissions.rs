//! Groups, and the permissions given to groups and to people directly.

use super::{Db, DbError, Tx, in_tx, on_db};
use crate::domain::permissions::Grants;

/// A group and the codenames it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
}

/// What a user holds: every codename given to them or to a group of theirs.
///
/// # Errors
/// The database error.
pub async fn grants_of(db: &Db, user_id: i64, superuser: bool) -> Result<Grants, DbError> {
    let permissions: Vec<String> = on_db!(db, "permissions.grants_of", pool => {
        sqlx::query_scalar(
            "SELECT codename FROM user_permissions WHERE user_id = $1 \
             UNION SELECT gp.codename FROM user_groups ug \
             JOIN auth_group_permissions gp ON gp.group_id = ug.group_id WHERE ug.user_id = $1",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await
    })?;
    Ok(Grants {
        superuser,
        permissions: permissions.into_iter().collect(),
    })
}

/// The groups a user is in, by id and name, ordered by name.
///
/// # Errors
/// The database error.
pub async fn groups_of(db: &Db, user_id: i64) -> Result<Vec<(i64, String)>, DbError> {
    on_db!(db, "permissions.groups_of", pool => {
        sqlx::query_as(
            "SELECT g.id, g.name FROM user_groups ug JOIN auth_groups g ON g.id = ug.group_id \
             WHERE ug.user_id = $1 ORDER BY g.name",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await
    })
}

/// The codenames given to a user directly (not through a group), sorted.
///
/// # Errors
/// The database error.
pub async fn direct_of(db: &Db, user_id: i64) -> Result<Vec<String>, DbError> {
    on_db!(db, "permissions.direct_of", pool => {
        sqlx::query_scalar(
            "SELECT codename FROM user_permissions WHERE user_id = $1 ORDER BY codename",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await
    })
}

/// Puts a user in exactly these groups.
///
/// # Errors
/// The database error (a foreign-key violation for an unknown group).
pub async fn set_groups_of(tx: &mut Tx, user_id: i64, groups: &[i64]) -> Result<(), DbError> {
    in_tx!(tx, "permissions.set_groups_of", conn => {
        sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        for group in groups {
            sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(group)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Gives a user exactly these codenames directly.
///
/// # Errors
/// The database error.
pub async fn set_direct_of(tx: &mut Tx, user_id: i64, codenames: &[String]) -> Result<(), DbError> {
    in_tx!(tx, "permissions.set_direct_of", conn => {
        sqlx::query("DELETE FROM user_permissions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        for codename in codenames {
            sqlx::query("INSERT INTO user_permissions (user_id, codename) VALUES ($1, $2)")
                .bind(user_id)
                .bind(codename)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Every group with its codenames, ordered by name.
///
/// # Errors
/// The database error.
pub async fn groups(db: &Db) -> Result<Vec<Group>, DbError> {
    let rows: Vec<(i64, String, Option<String>)> = on_db!(db, "permissions.groups", pool => {
        sqlx::query_as(
            "SELECT g.id, g.name, gp.codename FROM auth_groups g \
             LEFT JOIN auth_group_permissions gp ON gp.group_id = g.id \
             ORDER BY g.name, g.id, gp.codename",
        )
        .fetch_all(pool)
        .await
    })?;
    let mut groups: Vec<Group> = Vec::new();
    for (id, name, codename) in rows {
        if groups.last().is_none_or(|g| g.id != id) {
            groups.push(Group {
                id,
                name,
                permissions: Vec::new(),
            });
        }
        if let (Some(group), Some(codename)) = (groups.last_mut(), codename) {
            group.permissions.push(codename);
        }
    }
    Ok(groups)
}

/// One group, if it exists.
///
/// # Errors
/// The database error.
pub async fn group(db: &Db, id: i64) -> Result<Option<Group>, DbError> {
    Ok(groups(db).await?.into_iter().find(|g| g.id == id))
}

/// Creates a group; returns its id.
///
/// # Errors
/// The database error (a unique violation for a taken name).
pub async fn create_group(tx: &mut Tx, name: &str) -> Result<i64, DbError> {
    in_tx!(tx, "permissions.create_group", conn => {
        sqlx::query_scalar("INSERT INTO auth_groups (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
    })
}

/// Renames a group and gives it exactly these codenames.
///
/// # Errors
/// The database error (a unique violation for a taken name).
pub async fn update_group(
    tx: &mut Tx,
    id: i64,
    name: &str,
    codenames: &[String],
) -> Result<(), DbError> {
    in_tx!(tx, "permissions.update_group", conn => {
        sqlx::query("UPDATE auth_groups SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM auth_group_permissions WHERE group_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        for codename in codenames {
            sqlx::query("INSERT INTO auth_group_permissions (group_id, codename) VALUES ($1, $2)")
                .bind(id)
                .bind(codename)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Deletes a group (its members leave it). Returns whether it existed.
///
/// # Errors
/// The database error.
pub async fn delete_group(tx: &mut Tx, id: i64) -> Result<bool, DbError> {
    in_tx!(tx, "permissions.delete_group", conn => {
        sqlx::query("DELETE FROM auth_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}
