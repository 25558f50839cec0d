-- A partition's twin, built CONCURRENTLY, becomes part of the partitioned table's twin; the
-- latter turns valid once every partition's is attached. Catalog only.
-- Parameters: {index} qualified identifier (the partitioned table's), {partition} qualified
-- identifier (the partition's).
ALTER INDEX {index} ATTACH PARTITION {partition}
