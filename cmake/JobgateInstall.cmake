# Install rules (cmake --install, and CPack's Debian package: cmake/JobgatePackage.cmake).
#
#   bin/jobgate
#   lib/systemd/system/jobgate.service          hardened unit, paths filled in below
#   share/jobgate/{examples,packs}/             policies, their test suites, example jobs
#   share/jobgate/{grafana,prometheus,kubernetes,nats}/   dashboard, rules, manifests
#   share/doc/jobgate/                          README and docs/*.md
#   share/bash-completion/completions/jobgate, share/zsh/vendor-completions/_jobgate
#   <sysconfdir>/jobgate/{config.yaml,policy.yaml}   0640, a starting point to edit
#
# With CMAKE_INSTALL_PREFIX=/usr (the package) the configuration goes to /etc/jobgate,
# as GNUInstallDirs does; with any other prefix to <prefix>/etc/jobgate. The paths baked
# into the unit and config.yaml are those of the configured prefix.
include(GNUInstallDirs)

set(JOBGATE_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit is installed (relative to the prefix, or absolute)")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(JOBGATE_CONFIG_INSTALL_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/jobgate")
else()
  set(JOBGATE_CONFIG_INSTALL_DIR "${CMAKE_INSTALL_SYSCONFDIR}/jobgate")
endif()
set(JOBGATE_CONFIG_FULL_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/jobgate")
set(JOBGATE_BIN_FULL_DIR "${CMAKE_INSTALL_FULL_BINDIR}")
set(JOBGATE_DOC_FULL_DIR "${CMAKE_INSTALL_FULL_DOCDIR}")
set(JOBGATE_DATA_DIR "${CMAKE_INSTALL_DATADIR}/jobgate")

configure_file(${PROJECT_SOURCE_DIR}/deploy/systemd/jobgate.service.in
               ${PROJECT_BINARY_DIR}/deploy/jobgate.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/deploy/config/config.yaml.in
               ${PROJECT_BINARY_DIR}/deploy/config.yaml @ONLY)

# Completion scripts: printed by the binary itself from its CLI definition.
set(JOBGATE_COMPLETION_DIR ${PROJECT_BINARY_DIR}/completions)
add_custom_command(
  OUTPUT ${JOBGATE_COMPLETION_DIR}/jobgate ${JOBGATE_COMPLETION_DIR}/_jobgate
  COMMAND ${CMAKE_COMMAND} -E make_directory ${JOBGATE_COMPLETION_DIR}
  COMMAND sh -c "\"$1\" completion bash > \"$2\" && \"$1\" completion zsh > \"$3\"" sh
          $<TARGET_FILE:jobgate> ${JOBGATE_COMPLETION_DIR}/jobgate ${JOBGATE_COMPLETION_DIR}/_jobgate
  DEPENDS jobgate
  COMMENT "Generating bash and zsh completion from the CLI definition"
  VERBATIM)
add_custom_target(jobgate_completions ALL
  DEPENDS ${JOBGATE_COMPLETION_DIR}/jobgate ${JOBGATE_COMPLETION_DIR}/_jobgate)

install(TARGETS jobgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_BINARY_DIR}/deploy/jobgate.service DESTINATION ${JOBGATE_SYSTEMD_UNIT_DIR})
install(FILES ${JOBGATE_COMPLETION_DIR}/jobgate
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${JOBGATE_COMPLETION_DIR}/_jobgate
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${JOBGATE_DATA_DIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/packs/ DESTINATION ${JOBGATE_DATA_DIR}/packs)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/grafana/jobgate-dashboard.json
        DESTINATION ${JOBGATE_DATA_DIR}/grafana)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/alerts.yml
              ${PROJECT_SOURCE_DIR}/deploy/prometheus/prometheus.yml
        DESTINATION ${JOBGATE_DATA_DIR}/prometheus)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/kubernetes/ DESTINATION ${JOBGATE_DATA_DIR}/kubernetes)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/nats/ DESTINATION ${JOBGATE_DATA_DIR}/nats)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The configuration may hold NATS credentials: not world-readable. The package's
# postinst gives the directory and files to group jobgate.
install(DIRECTORY DESTINATION ${JOBGATE_CONFIG_INSTALL_DIR}
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
install(FILES ${PROJECT_BINARY_DIR}/deploy/config.yaml ${PROJECT_SOURCE_DIR}/deploy/config/policy.yaml
        DESTINATION ${JOBGATE_CONFIG_INSTALL_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
