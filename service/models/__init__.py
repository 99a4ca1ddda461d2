"""SQLAlchemy tables, one module per aggregate. Importing this package registers every table."""

from .access import LoginThrottle, UserIdentity
from .attachment import Attachment, AttachmentShare
from .audit import AuditAnchor
from .base import Base
from .case import Case, CaseMember, CaseParty, CaseState
from .case_figures import CaseMeasure, CaseMilestones
from .consultation import ConsultationMessage, ConsultationThread
from .disclosure import DisclosureCertification, DisclosureConsent, DisclosureProfile
from .event import Event, EventStream
from .followup import PendingFollowUp
from .migration_job import MigrationJob
from .model_store import ModelFile, ModelSpec, ModelVersion
from .notification import Notification
from .organization import ApiToken, Membership, Organization, User
from .program import Call, Program, program_areas
from .reference import MitigationMeasure, RiskLevel, TechnologyArea, TechnologyAreaList
from .screening import ScreeningEntry, ScreeningHit, ScreeningIndex, ScreeningSnapshot, ScreeningSubject
from .submission import SubmissionPackage
from .user_session import UserSession
from .work_item import PRIORITIES, TaskRoute, WorkItem

__all__ = [
    "AuditAnchor",
    "MigrationJob",
    "Attachment",
    "AttachmentShare",
    "LoginThrottle",
    "UserIdentity",
    "UserSession",
    "ApiToken",
    "Base",
    "Call",
    "Case",
    "CaseMeasure",
    "CaseMember",
    "CaseMilestones",
    "CaseParty",
    "CaseState",
    "ConsultationMessage",
    "ConsultationThread",
    "Event",
    "EventStream",
    "Membership",
    "MitigationMeasure",
    "ModelFile",
    "ModelSpec",
    "ModelVersion",
    "Notification",
    "Organization",
    "PRIORITIES",
    "Program",
    "program_areas",
    "RiskLevel",
    "TechnologyArea",
    "TechnologyAreaList",
    "User",
    "WorkItem",
    "TaskRoute",
    "DisclosureConsent",
    "DisclosureCertification",
    "DisclosureProfile",
    "PendingFollowUp",
    "ScreeningEntry",
    "ScreeningHit",
    "ScreeningIndex",
    "ScreeningSnapshot",
    "ScreeningSubject",
    "SubmissionPackage",
]
