// Wire names of the audit chain headers (docs/audit.md): every record the gate writes to
// the AUDIT stream carries its chain, its position in it and the hash of the record
// before it. Constants only; thread-safe.
#pragma once

namespace jobgate::subjects {

// The chain: 32 hex digits, drawn at random when a gate process starts.
inline constexpr char kChainHeader[] = "Jobgate-Chain";
// The record's position in its chain, decimal, from 1.
inline constexpr char kChainSeqHeader[] = "Jobgate-Seq";
// Hex SHA-256 of the chain's previous record (gate/audit_chain.h RecordHash); 64 zeros
// on position 1.
inline constexpr char kChainPrevHeader[] = "Jobgate-Prev";
// On a placeholder (subject Prefixes::chain, empty body) that holds a chain position
// whose record the stream dropped as a duplicate of one it already had: the Nats-Msg-Id
// of that record.
inline constexpr char kChainRefillHeader[] = "Jobgate-Chain-Refill";
// On a placeholder: the RecordHash of the dropped record, which the position's successor
// names as prev.
inline constexpr char kChainHashHeader[] = "Jobgate-Chain-Hash";

}  // namespace jobgate::subjects
