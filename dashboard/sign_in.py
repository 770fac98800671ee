"""Who is looking, decided on every page run before anything is read.

`dealer360 dashboard` hands Streamlit its `[auth]` secrets from the environment
(DEALER360_OIDC_*, DEALER360_COOKIE_SECRET), and people sign in with OpenID Connect through
Streamlit's own `st.login`. Then:
- not signed in: a sign-in button and nothing else;
- signed in, but not granted (`dealer360 grant user`), or with an e-mail the provider says it
  has not verified: whom to ask, and nothing else;
- granted: the person (`access.Person`) goes into the session, every query of theirs runs as
  their role (`connection.as_viewer`), the audit log names them, and the sidebar says who they
  are, with sign-out, on every page.
Without sign-in configured the dashboard serves only this computer (the CLI refuses any
other address) and every page says so.
"""

from __future__ import annotations

import streamlit as st

from dashboard import connection
from dealer360 import access
from dealer360.settings import sign_in_configured


def _email() -> str | None:
    """The signed-in e-mail, unless the provider says it did not verify it."""
    if st.user.get("email_verified") is False:
        return None
    email = st.user.get("email")
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


def _ask(email: str | None, administrators: list[str]) -> str:
    whom = (
        " or ".join(administrators) if administrators else "whoever runs dealer360 for your group"
    )
    if email is None:
        return (
            "Your sign-in did not give a verified e-mail address, which dealer360 needs to know"
            f" who you are: ask {whom}."
        )
    return (
        f"You are signed in as {email}, but no one has given you access to dealer360 yet:"
        f" ask {whom} to run `dealer360 grant user {email} --dealer CODE` (or `--oem BRAND`)."
    )


def gate() -> None:
    """Show the page shell's sign-in part; stop the run unless a granted person is looking."""
    if not sign_in_configured():
        st.sidebar.caption(
            ":material/lock_open: Sign-in is off: this dashboard answers only on this"
            " computer (127.0.0.1), to whoever uses it, with everything its database role"
            " sees. Set DEALER360_OIDC_ISSUER and its companions to sign people in."
        )
        return
    st.session_state.pop(connection.VIEWER, None)  # decided afresh: a revoke counts at once
    if not st.user.is_logged_in:
        st.title("dealer360")
        st.markdown("Sign in with your group's account to see your customers.")
        st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    email = _email()
    with connection.engine().connect() as conn:
        person = access.person(conn, email)
        administrators = [] if person else access.administrators(conn)
    with st.sidebar:
        if person is not None:
            st.caption(f"Signed in as **{person.email}**: you see {person.sees}.")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign_out")
    if person is None:
        st.title("No access yet")
        st.warning(_ask(email, administrators))
        st.stop()
    st.session_state[connection.VIEWER] = person
