"""Profiles: the viewer edits their own."""

from __future__ import annotations

from urllib.parse import urlsplit

from datasources.documents.profiles import ProfileRecord
from domain import MAX_BIO, MAX_LINKS, MAX_LOCATION, MAX_URL
from resolvers.context import Context
from resolvers.errors import FieldError, Outcome, UserErrorCode


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return len(url) <= MAX_URL and parts.scheme in {"http", "https"} and bool(parts.netloc)


async def update(
    ctx: Context,
    *,
    bio: str | None,
    avatar_url: str | None,
    location: str | None,
    links: list[str] | None,
) -> Outcome[ProfileRecord]:
    viewer = ctx.require_viewer()
    errors: list[FieldError] = []
    if bio is not None and len(bio) > MAX_BIO:
        errors.append(
            FieldError(
                UserErrorCode.TOO_LONG, f"Bio is limited to {MAX_BIO} characters.", ("input", "bio")
            )
        )
    if location is not None and len(location) > MAX_LOCATION:
        errors.append(
            FieldError(
                UserErrorCode.TOO_LONG,
                f"Location is limited to {MAX_LOCATION} characters.",
                ("input", "location"),
            )
        )
    if avatar_url and not _valid_url(avatar_url.strip()):
        errors.append(
            FieldError(
                UserErrorCode.INVALID_URL,
                "Avatar URL must be an http(s) URL.",
                ("input", "avatarUrl"),
            )
        )
    if links is not None:
        if len(links) > MAX_LINKS:
            errors.append(
                FieldError(
                    UserErrorCode.INVALID_URL, f"At most {MAX_LINKS} links.", ("input", "links")
                )
            )
        else:
            errors += [
                FieldError(
                    UserErrorCode.INVALID_URL,
                    "Links must be http(s) URLs.",
                    ("input", "links", str(index)),
                )
                for index, link in enumerate(links)
                if not _valid_url(link.strip())
            ]
    if errors:
        return Outcome(errors=errors)
    profile = await ctx.stores.documents.profiles.update(
        viewer.user_id,
        bio=bio.strip() if bio is not None else None,
        avatar_url=avatar_url.strip() if avatar_url is not None else None,
        location=location.strip() if location is not None else None,
        links=[link.strip() for link in links] if links is not None else None,
    )
    ctx.loaders.profile_by_user_id.clear(viewer.user_id).prime(viewer.user_id, profile)
    return Outcome(profile)
