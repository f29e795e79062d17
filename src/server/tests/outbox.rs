//! The outbox: mail survives an SMTP outage, goes out once from several instances, and lands
//! in the outbox folder when no SMTP server is set.

use std::collections::HashSet;

use reqwest::StatusCode;
use tokio::sync::watch;

use super::{
    helpers::{
        Backend, Relay, TestApp, backend_independent, fresh_postgres_database, on_both_backends,
        spawn_app, spawn_app_with, spawn_at, spawn_peer_with,
    },
    mail_sink::MailSink,
};
use crate::server::{
    db::testing::{self, Table},
    mail::templates::Rendered,
    services::outbox::{Delivery, Outbox},
};

/// Waits until this instance's sender has done `enough`.
async fn until(
    delivery: &mut watch::Receiver<Delivery>,
    enough: impl Fn(&Delivery) -> bool,
) -> Delivery {
    let reached = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        delivery.wait_for(|d| enough(d)),
    )
    .await
    .expect("the sender got that far in time")
    .expect("sender alive");
    *reached
}

/// Queues `count` mails straight into the outbox, as use cases do, to `recipients` people in
/// turn, and wakes `apps`.
async fn queue(apps: &[&TestApp], count: usize, recipients: usize) {
    let db = &apps[0].state.services.db;
    let mut tx = db.begin().await.expect("begin");
    for n in 0..count {
        let mail = Rendered {
            subject: format!("Mail {n}"),
            text: format!("Body {n}"),
            html: format!("<p>Body {n}</p>"),
        };
        let to = format!("person{}@example.com", n % recipients);
        Outbox::queue(&mut tx, None, &to, &mail)
            .await
            .expect("queue");
    }
    tx.commit().await.expect("commit");
    for app in apps {
        app.state.services.outbox.wake();
    }
}

async fn mail_queued_while_smtp_is_down_goes_out_once_it_is_back(backend: Backend) {
    let sink = MailSink::start();
    let mut relay = Relay::start(sink.addr.to_string()).await;
    let url = format!("smtp://{}", relay.addr);
    let app = spawn_app_with(backend, &[("SMTP_URL", url.as_str())]).await;
    relay.cut().await;
    let mut delivery = app.state.services.outbox.delivery();

    for name in ["ada", "grace", "linus"] {
        app.signed_up(name).await;
    }
    until(&mut delivery, |d| d.failed_attempts >= 3).await;
    assert_eq!(sink.all().len(), 0);
    assert_eq!(
        testing::count(&app.state.services.db, Table::Outbox).await,
        3,
        "nothing lost while the server is down"
    );

    relay.restore().await;
    testing::mail_due_now(&app.state.services.db).await;
    app.state.services.outbox.wake();
    let mails = sink.wait_for_count(3).await;
    until(&mut delivery, |d| d.sent >= 3).await;
    let recipients: HashSet<_> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients.len(), 3, "each mail once: {mails:?}");
    assert_eq!(
        testing::count(&app.state.services.db, Table::Outbox).await,
        0
    );
}

async fn two_instances_on_one_queue_send_each_mail_once(_: Backend) {
    const MAILS: usize = 40;
    let sink = MailSink::start();
    let smtp = [("SMTP_URL", sink.url.as_str())];
    let (url, name) = fresh_postgres_database().await;
    let first = spawn_at(url, name, &smtp).await;
    let second = spawn_peer_with(&first, &smtp).await;
    let (mut one, mut two) = (
        first.state.services.outbox.delivery(),
        second.state.services.outbox.delivery(),
    );
    queue(&[&first, &second], MAILS, MAILS).await;
    let mails = sink.wait_for_count(MAILS).await;
    let ids: HashSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), MAILS, "no mail twice");
    let all_sent = async {
        loop {
            let sent = one.borrow_and_update().sent + two.borrow_and_update().sent;
            if sent >= MAILS as u64 {
                return sent;
            }
            tokio::select! {
                _ = one.changed() => {}
                _ = two.changed() => {}
            }
        }
    };
    let sent = tokio::time::timeout(std::time::Duration::from_secs(20), all_sent)
        .await
        .expect("both senders recorded their mail");
    assert_eq!(sent, MAILS as u64, "each sent by one instance");
    assert_eq!(
        testing::count(&first.state.services.db, Table::Outbox).await,
        0
    );
    assert_eq!(sink.all().len(), MAILS);
    assert!(
        one.borrow().sent > 0 && two.borrow().sent > 0,
        "both instances took part"
    );
}

async fn without_smtp_mail_is_written_to_the_outbox_folder(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut delivery = app.state.services.outbox.delivery();
    app.signed_up("edsger").await;
    until(&mut delivery, |d| d.sent >= 1).await;
    let folder = app.state.settings.site.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&folder)
        .expect("the outbox folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read(&files[0]).expect("read the mail");
    let mail = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("a mail");
    assert!(
        mail.body_text(0)
            .is_some_and(|t| t.contains("/verify-email?key=")),
        "a person can open the link"
    );
}

async fn a_refused_mail_is_kept_for_the_operator(backend: Backend) {
    let sink = MailSink::start();
    let app = spawn_app_with(backend, &[("SMTP_URL", sink.url.as_str())]).await;
    let mut delivery = app.state.services.outbox.delivery();
    let db = &app.state.services.db;
    let mut tx = db.begin().await.expect("begin");
    let mail = Rendered {
        subject: "x".into(),
        text: "x".into(),
        html: "x".into(),
    };
    Outbox::queue(&mut tx, None, "not an address", &mail)
        .await
        .expect("queue");
    tx.commit().await.expect("commit");
    app.state.services.outbox.wake();
    until(&mut delivery, |d| d.failed_attempts >= 1).await;
    testing::mail_due_now(db).await;
    app.state.services.outbox.wake();
    assert_eq!(
        testing::count(db, Table::Outbox).await,
        1,
        "kept for the operator"
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

/// Several mails are on their way at once, yet each person gets theirs in the order they were
/// queued (a newer link arrives after the one it replaced): a person's next mail waits for
/// their previous one.
async fn each_person_gets_their_mails_in_the_order_they_were_queued(backend: Backend) {
    const MAILS: usize = 60;
    const PEOPLE: usize = 4;
    let sink = MailSink::start();
    let app = spawn_app_with(backend, &[("SMTP_URL", sink.url.as_str())]).await;
    queue(&[&app], MAILS, PEOPLE).await;
    let mails = sink.wait_for_count(MAILS).await;
    for person in 0..PEOPLE {
        let to = format!("person{person}@example.com");
        let order: Vec<usize> = mails
            .iter()
            .filter(|m| m.to.contains(&to))
            .filter_map(|m| m.subject.strip_prefix("Mail ")?.parse().ok())
            .collect();
        let queued: Vec<usize> = (person..MAILS).step_by(PEOPLE).collect();
        assert_eq!(order, queued, "{to}");
    }
}

on_both_backends!(
    each_person_gets_their_mails_in_the_order_they_were_queued,
    mail_queued_while_smtp_is_down_goes_out_once_it_is_back,
    without_smtp_mail_is_written_to_the_outbox_folder,
    a_refused_mail_is_kept_for_the_operator,
);
backend_independent!(two_instances_on_one_queue_send_each_mail_once);
