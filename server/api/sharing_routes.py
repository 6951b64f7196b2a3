"""The shared-list routes' entries in the route table (server/api/routes.py)."""

from __future__ import annotations

from server.api import sharing_handlers as h
from server.api.sharing_schemas import (
    InviteIn,
    InviteOut,
    InvitePreviewOut,
    InvitesOut,
    MemberOut,
    MembersOut,
    OwnerIn,
    RoleIn,
)
from server.api.task_schemas import ListOut
from server.http.endpoints import Endpoint

SHARING_ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/api/lists/{id}/invites", h.create_invite,
             "Owner: an invite link to the list, with a role and an expiry", "sharing",
             request=InviteIn, responses={201: InviteOut}, errors=(403, 404, 409, 503)),
    Endpoint("GET", "/api/lists/{id}/invites", h.list_invites, "Owner: the open invites",
             "sharing", responses={200: InvitesOut}, errors=(403, 404, 503)),
    Endpoint("DELETE", "/api/lists/{id}/invites/{code}", h.revoke_invite,
             "Owner: revoke an invite", "sharing", responses={204: None},
             errors=(403, 404, 503)),
    Endpoint("GET", "/api/invites/{code}", h.show_invite,
             "What an invite is to (for the joiner to confirm)", "sharing",
             responses={200: InvitePreviewOut}, errors=(403, 404, 503)),
    Endpoint("POST", "/api/invites/{code}/accept", h.accept_invite,
             "Join the list of an invite (single use)", "sharing", responses={200: ListOut},
             errors=(403, 404, 409, 503)),
    Endpoint("GET", "/api/lists/{id}/members", h.list_members,
             "Members: the owner first, then the members", "sharing",
             responses={200: MembersOut}, errors=(403, 404, 503)),
    Endpoint("PATCH", "/api/lists/{id}/members/{user_id}", h.set_member_role,
             "Owner: change a member's role", "sharing", request=RoleIn,
             responses={200: MemberOut}, errors=(403, 404, 503)),
    Endpoint("DELETE", "/api/lists/{id}/members/{user_id}", h.remove_member,
             "Owner: remove a member; a member: leave", "sharing", responses={204: None},
             errors=(403, 404, 409, 503)),
    Endpoint("POST", "/api/lists/{id}/owner", h.transfer_list,
             "Owner: hand the list to a member (the former owner stays, as editor)", "sharing",
             request=OwnerIn, responses={200: ListOut}, errors=(403, 404, 409, 503)),
]  # fmt: skip
