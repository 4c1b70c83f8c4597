"""Reports, the operators' queue, suspending and restoring, the audit log, through the views."""

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.moderation.models import AuditEntry, Operator, Report
from microblog.social.models import Follow, Notification, Post
from tests.helpers import csrf_token, sign_in_as
from tests.social.helpers import add_posts, bodies


def post_form(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/explore"), **data})


def audit_actions():
    return [
        (e.admin_nickname, e.action, e.target_nickname)
        for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
    ]


@pytest.mark.parametrize("path", ["/admin/reports", "/admin/users", "/admin/audit"])
def test_non_admins_get_404_under_admin(client, app, alice, admin_client, path):
    assert client.get(path).status_code == 404  # a visitor
    sign_in_as(client, alice)
    assert client.get(path).status_code == 404
    assert post_form(client, "/admin/users/alice/suspend").status_code == 404
    assert admin_client.get(path).status_code == 200


def test_operators_named_by_email_or_added_with_the_command(client, make_user, runner):
    root = make_user("rooty", email="root@example.org")
    sign_in_as(client, root)
    assert client.get("/admin/reports").status_code == 200
    carl = make_user("carl")
    sign_in_as(client, carl)
    assert client.get("/admin/reports").status_code == 404
    result = runner.invoke(args=["admin", "add", "CARL"])
    assert result.exit_code == 0 and "carl is now an operator" in result.output
    assert client.get("/admin/reports").status_code == 200
    assert "carl\tadded" in runner.invoke(args=["admin", "list"]).output
    assert runner.invoke(args=["admin", "add", "nobody"]).exit_code != 0
    runner.invoke(args=["admin", "remove", "carl"])
    assert client.get("/admin/reports").status_code == 404
    assert ("(command line)", "add operator", "carl") in audit_actions()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Operator)) == 0


def test_reporting_a_post_queues_it_with_the_reason(client, admin_client, alice, bob):
    (post,) = add_posts(bob, 1, prefix="spam")
    sign_in_as(client, alice)
    assert f'href="/p/{post.id}/report"' in client.get(f"/p/{post.id}").get_data(as_text=True)
    assert 'href="/u/bob/report"' in client.get("/u/bob").get_data(as_text=True)
    empty = post_form(client, f"/p/{post.id}/report", reason="  ")
    assert empty.status_code == 422 and "what is wrong" in empty.get_data(as_text=True)
    long = post_form(client, f"/p/{post.id}/report", reason="x" * 501)
    assert long.status_code == 422 and "x" * 501 in long.get_data(as_text=True)
    sent = post_form(client, f"/p/{post.id}/report", reason="Selling things")
    assert sent.status_code == 302 and sent.headers["Location"] == f"/p/{post.id}"
    post_form(client, "/u/bob/report", reason="A spammer")
    queue = admin_client.get("/admin/reports").get_data(as_text=True)
    assert "Selling things" in queue and "A spammer" in queue and "spam-0" in queue


def test_dismiss_closes_the_report_and_is_audited(client, admin_client, alice, bob):
    (post,) = add_posts(bob, 1)
    sign_in_as(client, alice)
    post_form(client, f"/p/{post.id}/report", reason="meh")
    report = db.session.scalars(sa.select(Report)).one()
    post_form(admin_client, f"/admin/reports/{report.id}/dismiss")
    assert "meh" not in admin_client.get("/admin/reports").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Report, report.id).resolution == "dismissed"
    assert db.session.get(Post, post.id) is not None
    assert audit_actions() == [("olga", "dismiss report", "bob")]
    assert "dismiss report" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_deleting_the_reported_post(client, admin_client, alice, bob):
    (post,) = add_posts(bob, 1, prefix="nasty")
    post_id = post.id
    sign_in_as(client, alice)
    post_form(client, f"/p/{post_id}/report", reason="rude")
    report = db.session.scalars(sa.select(Report)).one()
    assert post_form(admin_client, f"/admin/reports/{report.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post_id) is None
    assert db.session.get(Report, report.id).resolution == "deleted"
    assert audit_actions() == [("olga", "delete post", "bob")]
    assert "nasty-0" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_suspension_hides_posts_everywhere_until_restored(client, admin_client, alice, bob):
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    (post,) = add_posts(bob, 1, prefix="bobs")
    reply = Post(user_id=bob.id, body="bob replies", reply_to_id=None)
    db.session.add(reply)
    db.session.add(Notification(recipient_id=alice.id, actor_id=bob.id, kind="follow"))
    db.session.commit()
    (mine,) = add_posts(alice, 1, prefix="alices")
    db.session.add(Post(user_id=bob.id, body="bob answers", reply_to_id=mine.id))
    db.session.commit()
    sign_in_as(client, alice)
    pages = ["/", "/explore", "/u/bob", f"/p/{mine.id}", "/notifications"]
    before = {p: client.get(p).get_data(as_text=True) for p in pages}
    assert "bobs-0" in before["/"] and "bob answers" in before[f"/p/{mine.id}"]

    response = post_form(admin_client, "/admin/users/bob/suspend")
    assert response.status_code == 302
    assert "bobs-0" not in " ".join(bodies(client.get("/")))
    assert "bobs-0" not in " ".join(bodies(client.get("/explore")))
    assert client.get("/u/bob").status_code == 404
    assert client.get(f"/p/{post.id}").status_code == 404
    assert "bob answers" not in client.get(f"/p/{mine.id}").get_data(as_text=True)
    assert "bob" not in client.get("/notifications").get_data(as_text=True).split("<main")[1]
    client.get("/logout")
    assert "bobs-0" not in " ".join(bodies(client.get("/explore")))  # visitors too

    post_form(admin_client, "/admin/users/bob/restore")
    sign_in_as(client, alice)
    assert "bobs-0" in " ".join(bodies(client.get("/")))
    assert client.get("/u/bob").status_code == 200
    assert "bob answers" in client.get(f"/p/{mine.id}").get_data(as_text=True)
    assert audit_actions() == [("olga", "suspend", "bob"), ("olga", "restore", "bob")]
    users = admin_client.get("/admin/users?q=bo").get_data(as_text=True)
    assert "/u/bob" in users and "/u/alice" not in users


def test_suspension_ends_sessions_and_refuses_sign_in(app, client, admin_client, fake_idp):
    fake_idp.sign_in(client, email="bob@example.org")
    bob = db.session.scalars(sa.select(User).where(User.email == "bob@example.org")).one()
    assert client.get("/settings").status_code == 200
    post_form(admin_client, f"/admin/users/{bob.nickname}/suspend")
    assert client.get("/settings").status_code == 302  # signed out
    response = fake_idp.sign_in(client, email="bob@example.org")
    assert response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This account is suspended" in page
    assert client.get("/settings").status_code == 302
    post_form(admin_client, f"/admin/users/{bob.nickname}/restore")
    fake_idp.sign_in(client, email="bob@example.org")
    assert client.get("/settings").status_code == 200


def test_suspending_from_a_report_closes_all_reports_about_them(client, admin_client, alice, bob):
    (post,) = add_posts(bob, 1)
    sign_in_as(client, alice)
    post_form(client, f"/p/{post.id}/report", reason="one")
    post_form(client, "/u/bob/report", reason="two")
    first = db.session.scalars(sa.select(Report).order_by(Report.id)).first()
    post_form(admin_client, f"/admin/reports/{first.id}/suspend")
    db.session.expire_all()
    assert {r.resolution for r in db.session.scalars(sa.select(Report))} == {"suspended"}
    assert db.session.get(User, bob.id).suspended_at is not None
    assert "No open reports" in admin_client.get("/admin/reports").get_data(as_text=True)


def test_an_operator_cannot_suspend_themselves(admin_client, olga):
    response = post_form(admin_client, "/admin/users/olga/suspend")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, olga.id).suspended_at is None


def test_a_suspended_persons_tokens_stop_working(client, admin_client, bob):
    from microblog.api.tokens import create_token

    _, secret = create_token(bob.id, "script", "read")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/timeline", headers=headers).status_code == 200
    post_form(admin_client, "/admin/users/bob/suspend")
    assert client.get("/api/v1/timeline", headers=headers).status_code == 401


def test_the_queue_and_the_audit_log_use_a_fixed_number_of_statements(
    app, client, admin_client, make_user
):
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    counts = []
    for n in (2, 12):
        for i in range(n):
            author = make_user()
            (post,) = add_posts(author, 1)
            reporter = make_user()
            sign_in_as(client, reporter)
            post_form(client, f"/p/{post.id}/report", reason=f"reason {i}")
            post_form(admin_client, f"/admin/users/{reporter.nickname}/suspend")  # audited
        assert admin_client.get("/admin/reports").get_data(as_text=True).count("reason ") >= n
        for path in ("/admin/reports", "/admin/audit", "/admin/users"):
            admin_client.get(path)  # warm up
            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                seen.clear()
                assert admin_client.get(path).status_code == 200
                counts.append((path, len(seen)))
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
    assert counts[:3] == counts[3:], counts
    assert all(count <= 4 for _, count in counts), counts
