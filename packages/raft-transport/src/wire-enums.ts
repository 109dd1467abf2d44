import {
  EntryType as EntryTypeProto,
  ProposalRefusal as ProposalRefusalProto,
  SnapshotTransferStatus,
} from "@raftstore/proto/raft/v1";
import {
  EntryType,
  type ProposalRefusal,
  type SnapshotTransferStatus as TransferStatus,
} from "@raftstore/raft";

// The engine's enumerations and their raftstore.raft.v1 counterparts. The wire enums start at
// 1 (0 is UNSPECIFIED, what a missing field reads as), so the numbers differ from the engine's;
// entry checksums cover the engine's numbers, which is why the mapping must be exact.

export const entryTypeToWire = new Map<EntryType, EntryTypeProto>([
  [EntryType.Normal, EntryTypeProto.NORMAL],
  [EntryType.NoOp, EntryTypeProto.NO_OP],
  [EntryType.Config, EntryTypeProto.CONFIG],
  [EntryType.Restore, EntryTypeProto.RESTORE],
]);

export const entryTypeFromWire = new Map<EntryTypeProto, EntryType>(
  [...entryTypeToWire].map(([engine, wire]) => [wire, engine]),
);

export const statusToWire = new Map<TransferStatus, SnapshotTransferStatus>([
  ["receiving", SnapshotTransferStatus.RECEIVING],
  ["installing", SnapshotTransferStatus.INSTALLING],
  ["installed", SnapshotTransferStatus.INSTALLED],
  ["rejected", SnapshotTransferStatus.REJECTED],
]);

export const statusFromWire = new Map<SnapshotTransferStatus, TransferStatus>(
  [...statusToWire].map(([engine, wire]) => [wire, engine]),
);

export const refusalToWire = new Map<ProposalRefusal | "", ProposalRefusalProto>([
  ["", ProposalRefusalProto.UNSPECIFIED],
  ["not-leader", ProposalRefusalProto.NOT_LEADER],
  ["uncommitted-limit", ProposalRefusalProto.UNCOMMITTED_LIMIT],
  ["leadership-transfer", ProposalRefusalProto.LEADERSHIP_TRANSFER],
  ["restore", ProposalRefusalProto.RESTORE],
  ["too-large", ProposalRefusalProto.TOO_LARGE],
]);

export const refusalFromWire = new Map<ProposalRefusalProto, ProposalRefusal | "">(
  [...refusalToWire].map(([engine, wire]) => [wire, engine]),
);
