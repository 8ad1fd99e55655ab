# The Debian package (scripts/package runs cpack -G DEB on a build configured with
# CMAKE_INSTALL_PREFIX=/usr). Runtime dependencies come from dpkg-shlibdeps over the
# shared libraries the binary actually links; the maintainer scripts in deploy/debian/
# create the jobgate system user and enable (never start) the unit; the files in
# /etc/jobgate are conffiles.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME jobgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "jobgate maintainers <jobgate@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "policy-as-code dispatch gate for AI agent jobs on NATS")
# One string: a list would put ';' into the control file.
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "jobgate judges every job an AI agent publishes on a NATS JetStream bus against a\n"
       "versioned policy before any worker sees it: allow, deny, hold for approval,\n"
       "throttle or alert, with an audit record for each decision.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst creates the system user. Added to what dpkg-shlibdeps finds.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nats-server, prometheus")

set(JOBGATE_DEBIAN_DIR ${PROJECT_BINARY_DIR}/debian)
file(WRITE ${JOBGATE_DEBIAN_DIR}/conffiles
     "${JOBGATE_CONFIG_FULL_DIR}/config.yaml\n${JOBGATE_CONFIG_FULL_DIR}/policy.yaml\n")
foreach(script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/${script}.in
                 ${JOBGATE_DEBIAN_DIR}/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                  GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${JOBGATE_DEBIAN_DIR}/conffiles ${JOBGATE_DEBIAN_DIR}/postinst
    ${JOBGATE_DEBIAN_DIR}/prerm ${JOBGATE_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
