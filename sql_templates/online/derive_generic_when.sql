-- Parameters: {content_type} literal; {expression} the derivation; {cast} '' or '::text'.
WHEN {content_type} THEN ({expression}){cast}
