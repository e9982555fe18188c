-- One database per service, owned by the application user `lianxin`
-- (POSTGRES_USER in docker-compose.yml). The postgres image runs this file once,
-- on an empty data volume; a service never reads another service's database.
-- PostgreSQL in production is managed elsewhere: see deploy/k8s/.
-- accounts holds the password hashes and the private signing keys: in production
-- give it a role of its own that no other service's role can read.

CREATE DATABASE accounts OWNER lianxin ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE tickets OWNER lianxin ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE volunteers OWNER lianxin ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE events OWNER lianxin ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE notify OWNER lianxin ENCODING 'UTF8' TEMPLATE template0;

-- Nobody but the owner connects (or creates objects in `public`).
REVOKE ALL ON DATABASE accounts, tickets, volunteers, events, notify FROM PUBLIC;
