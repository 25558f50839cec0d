-- Take every lock up front, parents first, so the transaction cannot deadlock half-way with
-- an application that locks in the usual parent-to-child order.
-- Parameters: {tables} comma-separated qualified identifiers.
LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE
