"""The signed-in user of each request, read from the cache instead of the database.

`CachedAuthenticationMiddleware` (portal.middleware) puts `request_user` where Django's
`AuthenticationMiddleware` puts `django.contrib.auth.get_user`: the same checks (the session's
backend must be configured, the backend refuses inactive users, the session's hash must match
the password's), but the user row comes from the cache while nothing about the user changed.

A cached user is tagged with two versions (portal.cache): the user's own, bumped by every
`save()` or `delete()` of the user (a password change, a new role, a deactivation, the last
login), and one for all users, bumped by every queryset write to users (`update`,
`bulk_update`: the school year's close and the roster deactivating many at once). Either makes
the next request read the row again, so a deactivated user is refused on their next request.
"""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare

from .cache import version_bump, versions_get_many
from .changes import rows_changed
from .models import User

ALL_USERS = "users"
USER_CACHE_SECONDS = 3600


def _own_version(pk) -> str:
    return f"user:{pk}"


def _entry_key(pk) -> str:
    return f"user-row:{pk}"


def user_cache_tag(pk) -> tuple[int, int] | None:
    """The versions a cached user and what was made for them (their header) are tagged with."""
    versions, _ = versions_get_many([ALL_USERS, _own_version(pk)])
    tag = (versions[ALL_USERS], versions[_own_version(pk)])
    return None if None in tag else tag


def _user_store(user) -> None:
    tag = user_cache_tag(user.pk)
    if tag is not None:
        cache.set(_entry_key(user.pk), (tag, user), USER_CACHE_SECONDS)


def _user_get(backend, user_id):
    """backend.get_user(user_id), from the cache while the user's versions stand."""
    versions, found = versions_get_many(
        [ALL_USERS, _own_version(user_id)], also=[_entry_key(user_id)]
    )
    tag = (versions[ALL_USERS], versions[_own_version(user_id)])
    entry = found.get(_entry_key(user_id))
    if entry is not None and entry[0] == tag and None not in tag:
        user = entry[1]
    else:
        user = backend.get_user(user_id)
        if None not in tag:
            cache.set(_entry_key(user_id), (tag, user), USER_CACHE_SECONDS)
    if user is not None:
        user._cache_tag = tag
    return user


def request_user(request):
    """`django.contrib.auth.get_user(request)`, with the user row from the cache."""
    try:
        user_id = User._meta.pk.to_python(request.session[SESSION_KEY])
        backend_path = request.session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user = _user_get(load_backend(backend_path), user_id)
    if user is None:
        return AnonymousUser()
    session_hash = request.session.get(HASH_SESSION_KEY)
    if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    # A hash made with an older secret, or none: Django's own check (it re-keys or flushes).
    return auth.get_user(request)


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    """The page after signing in reads no user row either (the last login is saved by then)."""
    if isinstance(user, User):
        _user_store(user)


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _user_changed(sender, instance, **kwargs):
    version_bump(_own_version(instance.pk))


@receiver(rows_changed, sender=User)
def _users_changed(sender, **kwargs):
    version_bump(ALL_USERS)
